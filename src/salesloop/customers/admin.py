from django.contrib import admin

from salesloop.customers.models import Contact, Customer, Product, ProductLine


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0


@admin.register(ProductLine)
class ProductLineAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "is_active")
    search_fields = ("name", "code")


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "sku", "product_line", "list_price", "is_active")
    list_filter = ("product_line", "is_active")
    search_fields = ("name", "sku")


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "tier", "industry", "region", "owner", "external_id")
    list_filter = ("tier", "industry", "region")
    search_fields = ("name", "external_id")
    raw_id_fields = ("owner",)
    inlines = [ContactInline]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("name", "customer", "title", "phone", "email", "is_primary")
    search_fields = ("name", "customer__name", "phone", "email")
    raw_id_fields = ("customer",)

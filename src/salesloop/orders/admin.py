from django.contrib import admin

from salesloop.orders.models import ExchangeRate, Order, OrderCredit, OrderLine, Payment


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    raw_id_fields = ("product",)
    readonly_fields = ("amount_base",)


class OrderCreditInline(admin.TabularInline):
    model = OrderCredit
    extra = 0
    raw_id_fields = ("member",)


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    readonly_fields = ("amount_base",)


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    list_display = ("currency", "valid_from", "rate")
    list_filter = ("currency",)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("number", "customer", "owner", "signed_on", "amount", "currency", "status")
    list_filter = ("status", "product_line", "currency")
    search_fields = ("number", "external_id", "customer__name")
    raw_id_fields = ("customer", "owner", "opportunity")
    readonly_fields = ("amount_base",)
    date_hierarchy = "signed_on"
    inlines = [OrderLineInline, OrderCreditInline, PaymentInline]


@admin.register(OrderLine)
class OrderLineAdmin(admin.ModelAdmin):
    list_display = ("order", "product", "quantity", "unit_price", "amount")
    raw_id_fields = ("order", "product")


@admin.register(OrderCredit)
class OrderCreditAdmin(admin.ModelAdmin):
    list_display = ("order", "member", "share")
    raw_id_fields = ("order", "member")


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ("order", "paid_on", "amount", "currency", "method")
    raw_id_fields = ("order",)
    date_hierarchy = "paid_on"

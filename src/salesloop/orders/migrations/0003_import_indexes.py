"""Fewer index entries per order, for bulk imports of a million orders.

- Opportunity and product line: indexed only where set (partial indexes). The look-ups by them
  (an opportunity's orders, the product line filter, the SET_NULL / PROTECT checks when an
  opportunity or a product line is deleted) compare with a value, which implies "not null", so
  they still use an index; orders that name neither (most imported ones) have no entry.
- PostgreSQL only: the ``varchar_pattern_ops`` ("_like") indexes Django adds beside the unique
  indexes of ``number`` and ``external_id`` are dropped. They serve only LIKE / prefix
  filters, and no query filters these columns so (the admin search is case-insensitive, which
  they do not serve; exact look-ups use the unique indexes). Django's model state still holds
  the fields as unique: a later migration changing one of these columns' type would make
  Django create the "_like" index again; drop it again then. No-op on SQLite; reversible.
"""

import django.db.models.deletion
from django.db import migrations, models

LIKE_INDEXED = ("number", "external_id")


def _like_indexes(apps, schema_editor, *, create: bool) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    order = apps.get_model("orders", "Order")
    for name in LIKE_INDEXED:
        field = order._meta.get_field(name)
        if create:
            statement = schema_editor._create_like_index_sql(order, field)
            if statement is not None:
                schema_editor.execute(statement)
        else:  # (the name Django gave the index, as Django itself finds it to drop it)
            index = schema_editor._create_index_name(
                order._meta.db_table, [field.column], suffix="_like"
            )
            schema_editor.execute(schema_editor._delete_index_sql(order, index))


def drop_like_indexes(apps, schema_editor) -> None:
    _like_indexes(apps, schema_editor, create=False)


def create_like_indexes(apps, schema_editor) -> None:
    _like_indexes(apps, schema_editor, create=True)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
        ("orders", "0002_fewer_indexes"),
        ("pipeline", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                condition=models.Q(("opportunity__isnull", False)),
                fields=["opportunity"],
                name="order_opportunity_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                condition=models.Q(("product_line__isnull", False)),
                fields=["product_line"],
                name="order_product_line_idx",
            ),
        ),
        migrations.AlterField(
            model_name="order",
            name="opportunity",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="orders",
                to="pipeline.opportunity",
                verbose_name="opportunity",
            ),
        ),
        migrations.AlterField(
            model_name="order",
            name="product_line",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="orders",
                to="customers.productline",
                verbose_name="main product line",
            ),
        ),
        migrations.RunPython(drop_like_indexes, create_like_indexes, elidable=False),
    ]

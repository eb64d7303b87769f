"""Month rows: no index of their own on the target (the unique (target, month) index serves
every lookup by target); one index fewer to maintain for each row inserted or moved."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('targets', '0002_room_for_updates'),
    ]

    operations = [
        migrations.AlterField(
            model_name='targetmonth',
            name='target',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='months', to='targets.target', verbose_name='target'),
        ),
    ]

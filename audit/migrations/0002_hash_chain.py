"""Hash chains, checkpoints and shipping cursors; the IP address becomes text.

Events written before this migration are chained, in order, into chain 0.
"""

import ipaddress

from django.db import migrations, models

from audit import hashing


def _ip_text(value):
    if not value:
        return ""
    address = ipaddress.ip_address(str(value).split("/")[0])
    return str(getattr(address, "ipv4_mapped", None) or address)


def copy_ips(apps, schema_editor):
    AuditEvent = apps.get_model("audit", "AuditEvent")
    for seq, ip in AuditEvent.objects.exclude(ip=None).values_list("seq", "ip").iterator():
        AuditEvent.objects.filter(seq=seq).update(ip_text=_ip_text(ip))


def chain_existing(apps, schema_editor):
    AuditEvent = apps.get_model("audit", "AuditEvent")
    AuditChainHead = apps.get_model("audit", "AuditChainHead")
    prev, pos, seq = hashing.GENESIS, 0, 0
    for event in AuditEvent.objects.order_by("seq").iterator():
        pos, seq = pos + 1, event.seq
        fields = {name: getattr(event, name) for name in hashing.HASHED_FIELDS}
        fields.update(chain=0, chain_pos=pos, prev_hash=prev)
        digest = hashing.event_digest(fields)
        AuditEvent.objects.filter(seq=seq).update(
            chain=0, chain_pos=pos, prev_hash=prev, hash=digest, hash_version=1
        )
        prev = digest
    if pos:
        AuditChainHead.objects.create(chain=0, length=pos, seq=seq, hash=prev)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="chain",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="chain_pos",
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="hash_version",
            field=models.PositiveSmallIntegerField(default=1),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="ip_text",
            field=models.CharField(blank=True, default="", max_length=45),
            preserve_default=False,
        ),
        migrations.RunPython(copy_ips, migrations.RunPython.noop),
        migrations.RemoveField(model_name="auditevent", name="ip"),
        migrations.RenameField(model_name="auditevent", old_name="ip_text", new_name="ip"),
        migrations.CreateModel(
            name="AuditChainHead",
            fields=[
                ("chain", models.PositiveIntegerField(primary_key=True, serialize=False)),
                ("length", models.PositiveBigIntegerField(default=0)),
                ("seq", models.BigIntegerField(default=0)),
                ("hash", models.CharField(blank=True, max_length=64)),
            ],
        ),
        migrations.CreateModel(
            name="AuditCheckpoint",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("number", models.PositiveBigIntegerField(unique=True)),
                ("created_at", models.DateTimeField()),
                ("payload", models.TextField()),
                ("key_id", models.CharField(max_length=16)),
                ("signature", models.CharField(max_length=128)),
            ],
            options={"ordering": ["number"]},
        ),
        migrations.CreateModel(
            name="AuditShipCursor",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("sink", models.CharField(max_length=200)),
                ("stream", models.IntegerField()),
                ("position", models.PositiveBigIntegerField(default=0)),
                ("updated_at", models.DateTimeField(null=True)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("sink", "stream"), name="audit_one_cursor_per_stream"
                    )
                ]
            },
        ),
        migrations.RunPython(chain_existing, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(
                fields=("chain", "chain_pos"), name="audit_chain_position"
            ),
        ),
    ]

"""disputes: fill in the charge of disputes recorded before the column existed."""

from db.migrations._raw import raw_migration

ID = "2026-12-01T15:00:10:000000"
VERSION = "1.38.0"
DESCRIPTION = "disputes: copy each recorded dispute's charge from its payment"

# A dispute's events carry its JSON as their snapshot. Without the charge there, a Stripe integration reading
# `charge.dispute.created` found `charge: null`. A payment's charge is fixed once charged, so it is copied in.
SQL = [
    "UPDATE disputes d SET processor_charge_id = p.processor_charge_id FROM payment_intents p "
    "WHERE p.id = d.payment_intent_id",
]

forwards = raw_migration(ID, DESCRIPTION, SQL)

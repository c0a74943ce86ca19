"""Dashboard pages of the account, one concern a module: login, mode and account switching, home, team,
invitations, settings, the audit log, and the placeholders of areas still to come."""

from __future__ import annotations

from server.accounts.pages import audit, home, invitations, login, mode, placeholders, settings, team

HANDLERS = [*login.HANDLERS, *mode.HANDLERS, *home.HANDLERS, *team.HANDLERS, *invitations.HANDLERS,
            *settings.HANDLERS, *audit.HANDLERS, *placeholders.HANDLERS]

"""Issue an API token for a user from the command line (issue 18.2).

    manage.py api_token_issue <username> "<token name>"

For an integration account (a user the administrator made with a role and no usable
password, so it cannot log in to the pages): the key is printed once, on its own line.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from dealership.tokens import api_token_issue


class Command(BaseCommand):
    help = "Issue a named API token for a user and print its key (shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("name")

    def handle(self, *args, username, name, **options):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {username!r}.")
        try:
            token, key = api_token_issue(user=user, name=name)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stderr.write(
            f"Token {token.name!r} for {username}, expires {token.expires_at:%Y-%m-%d}."
        )
        self.stdout.write(key)

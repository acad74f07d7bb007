"""The logged-in user of each request, from the cache.

Django's ModelBackend reads the user's row on every request and the role check then reads
the user's groups: two queries before a page does its own work. `CachedModelBackend`
keeps the user, with its role names (`dealership.roles.user_roles`), in the cache for
`TTL_SECONDS`, and forgets it as soon as the user's row, their groups or a group changes
(the signals below: at once, and again when the transaction commits, so a request that
read the old row during the change cannot put it back). So a user made inactive, a
password changed (the session's hash no longer matches: logged out) or a role taken away
counts from the next request, as before. Changes that send no signal (a queryset
`update()` of users, raw SQL) count after `TTL_SECONDS` at the latest.

The user is cached as loaded, before any request used it (no permission cache rides along).
"""

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete

from .models import User
from .roles import user_roles

TTL_SECONDS = 300


def _key(user_id) -> str:
    # The database's name too: a user id means another person in another database that
    # shares the cache (a test or bench database beside the real one).
    return f"auth-user:v1:{settings.DATABASES['default']['NAME']}:{user_id}"


class CachedModelBackend(ModelBackend):
    """ModelBackend whose `get_user` (once a request, from the session) reads the cache."""

    def get_user(self, user_id):
        key = _key(user_id)
        user = cache.get(key)
        if user is None:
            user = super().get_user(user_id)  # None: no such user, or inactive
            if user is None:
                return None
            user_roles(user)  # the role names ride along in the cached copy
            cache.set(key, user, TTL_SECONDS)
        return user if self.user_can_authenticate(user) else None


def forget(user_ids) -> None:
    """The cached copies of these users are stale: gone now and after the commit."""
    keys = [_key(pk) for pk in user_ids]
    if keys:
        cache.delete_many(keys)
        transaction.on_commit(lambda: cache.delete_many(keys))


def _members(group) -> list[int]:
    return list(group.user_set.values_list("pk", flat=True)) if group.pk else []


def _user_changed(sender, instance, raw=False, **kwargs):
    forget([instance.pk])


def _groups_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if not reverse:  # user.groups.add/remove/clear/set
        if action.startswith("post_"):
            forget([instance.pk])
    elif action in ("post_add", "post_remove"):  # group.user_set.add/remove
        forget(pk_set or ())
    elif action == "pre_clear":  # group.user_set.clear(): who was in it
        forget(_members(instance))


def _group_changed(sender, instance, **kwargs):
    """A group renamed or deleted changes its members' role names."""
    forget(_members(instance))


post_save.connect(_user_changed, sender=User, dispatch_uid="user_cache.user_saved")
post_delete.connect(_user_changed, sender=User, dispatch_uid="user_cache.user_deleted")
m2m_changed.connect(
    _groups_changed, sender=User.groups.through, dispatch_uid="user_cache.groups_changed"
)
post_save.connect(_group_changed, sender=Group, dispatch_uid="user_cache.group_saved")
pre_delete.connect(_group_changed, sender=Group, dispatch_uid="user_cache.group_deleted")

"""Gapless number series (invoices, deposit receipts): one row per series and year.

`take_next` is called inside the transaction that uses the number: if that
transaction fails, the increment rolls back with it, so a series has no gaps;
the row lock makes two desks take turns, so no number is handed out twice.
"""

from django.db import models


class SeriesCounter(models.Model):
    """The last number handed out in one series (`key`, e.g. the year)."""

    key = models.CharField(max_length=20, unique=True)
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True

    def __str__(self):
        return f"{self.key}: {self.last_number}"

    @classmethod
    def take_next(cls, key: str) -> int:
        """The next number of series `key`, under the counter row's lock."""
        cls.objects.bulk_create([cls(key=key)], ignore_conflicts=True)
        counter = cls.objects.select_for_update().get(key=key)
        counter.last_number += 1
        counter.save(update_fields=["last_number"])
        return counter.last_number

"""Lazy texts in cached values come back translated in the reader's language, without a
new proxy class per value (issue 21: a cached report's 350 labels were a third of its page)."""

from django.core.cache import cache
from django.utils import translation
from django.utils.translation import gettext_lazy, pgettext_lazy

from dealership.cache import CacheSerializer


def test_a_cached_lazy_text_is_read_in_each_language():
    value = {"labels": [gettext_lazy("Customer"), pgettext_lazy("person", "name")]}
    cache.set("test:lazy-labels", value, 60)
    with translation.override("zh-hans"):
        chinese = [str(label) for label in cache.get("test:lazy-labels")["labels"]]
    with translation.override("en"):
        english = [str(label) for label in cache.get("test:lazy-labels")["labels"]]
    assert english == ["Customer", "name"]
    assert chinese[0] == "客户" and chinese[0] != english[0]
    cache.delete("test:lazy-labels")


def test_lazy_texts_share_one_proxy_class_when_read_back():
    serializer = CacheSerializer()
    data = serializer.dumps([gettext_lazy("Customer"), gettext_lazy("Plate")] * 50)
    first, second = serializer.loads(data), serializer.loads(data)
    assert len({type(label) for label in first + second}) == 1
    assert serializer.loads(serializer.dumps(7)) == 7  # counters stay plain integers

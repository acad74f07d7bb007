from functools import cache

import factory
from django.contrib.auth.hashers import get_hasher, make_password
from django.contrib.auth.models import Group

from dealership.models import Bay, Customer, LabourOperation, Part, Technician, User, Vehicle
from demo.store import make_mobile, make_plate, make_vin

TEST_PASSWORD = "pw-for-tests-1"  # noqa: S105 - the test users' password


def _test_password_hash() -> str:
    """The test password hashed with the hasher in force (some suites use a fast one)."""
    return _hashed(get_hasher().algorithm)


@cache
def _hashed(algorithm: str) -> str:
    """Once per run and hasher: PBKDF2 costs 0.3 s a user, every user."""
    return make_password(TEST_PASSWORD, hasher=algorithm)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = "芳"
    last_name = "王"
    password = factory.LazyFunction(_test_password_hash)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            # get_or_create: a transactional test before this one flushes the migration's groups.
            self.groups.add(*(Group.objects.get_or_create(name=name)[0] for name in extracted))
        if create:
            self.save()


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"客户{n}")
    mobile = factory.Sequence(lambda n: make_mobile(90_000_000 + n))


class VehicleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vehicle

    vin = factory.Sequence(lambda n: make_vin(__import__("random").Random(n)))
    plate = factory.Sequence(lambda n: make_plate(500_000 + n * 7 + 1))
    owner = factory.SubFactory(CustomerFactory)
    brand = "丰田"
    model = "卡罗拉 Corolla"


class TechnicianFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Technician

    name = factory.Sequence(lambda n: f"技师{n}")
    skill_level = "skilled"
    team = "机修组"


class BayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bay

    code = factory.Sequence(lambda n: f"T{n}")
    name = factory.Sequence(lambda n: f"工位{n}")


class LabourOperationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LabourOperation

    code = factory.Sequence(lambda n: f"OP{n}")
    name_zh = factory.Sequence(lambda n: f"工时项目{n}")
    name_en = factory.Sequence(lambda n: f"Operation {n}")
    work_type = "maintenance"
    standard_hours = "1.00"
    price = "200.00"


class PartFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Part

    part_number = factory.Sequence(lambda n: f"PN-{n:05d}")
    name_zh = factory.Sequence(lambda n: f"零件{n}")
    name_en = factory.Sequence(lambda n: f"Part {n}")
    price = "100.00"
    stock_on_hand = 10

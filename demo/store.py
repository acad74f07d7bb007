"""Deterministic demo data: a realistic store (staff, catalogue, customers and their cars)."""

import random
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.models import Group
from django.db import connection, transaction

from dealership.consent import consents_import
from dealership.models import (
    Bay,
    Customer,
    LabourOperation,
    MaintenancePlan,
    MaintenancePlanPart,
    Part,
    SkillLevel,
    Technician,
    User,
    Vehicle,
    WorkType,
)
from dealership.roles import Role
from dealership.rules import rule
from dealership.validators import vin_check_digit

DEMO_PASSWORD = "demo12345"  # noqa: S105 - printed for the quick-start; seed refuses production

STAFF = [
    # username, family name, given name, role
    ("advisor", "王", "芳", Role.ADVISOR),
    ("advisor2", "李", "强", Role.ADVISOR),
    ("controller", "张", "伟", Role.WORKSHOP_CONTROLLER),
    ("tech1", "刘", "洋", Role.TECHNICIAN),
    ("tech2", "陈", "杰", Role.TECHNICIAN),
    ("tech3", "杨", "磊", Role.TECHNICIAN),
    ("tech4", "赵", "军", Role.TECHNICIAN),
    ("tech5", "黄", "勇", Role.TECHNICIAN),
    ("tech6", "周", "斌", Role.TECHNICIAN),
    ("qc", "吴", "刚", Role.QC_INSPECTOR),
    ("cashier", "徐", "丽", Role.CASHIER),
    ("care", "孙", "婷", Role.CUSTOMER_CARE),
    ("manager", "马", "明", Role.SERVICE_MANAGER),
    ("claims", "郑", "洁", Role.CLAIMS_CLERK),
    ("admin", "管理", "员", Role.ADMIN),
]

TECHNICIANS = {
    # username: team, skill, work type
    "tech1": ("快修组 Express", SkillLevel.SEMI_SKILLED, WorkType.MAINTENANCE),
    "tech2": ("快修组 Express", SkillLevel.SEMI_SKILLED, WorkType.MAINTENANCE),
    "tech3": ("机修组 Mechanical", SkillLevel.SKILLED, WorkType.REPAIR),
    "tech4": ("机修组 Mechanical", SkillLevel.MASTER, WorkType.REPAIR),
    "tech5": ("钣喷组 Body & paint", SkillLevel.SKILLED, WorkType.BODY_PAINT),
    "tech6": ("钣喷组 Body & paint", SkillLevel.SKILLED, WorkType.BODY_PAINT),
}

BAYS = [
    ("Q1", "快保工位1", WorkType.MAINTENANCE),
    ("Q2", "快保工位2", WorkType.MAINTENANCE),
    ("M1", "机修工位1", WorkType.REPAIR),
    ("M2", "机修工位2", WorkType.REPAIR),
    ("M3", "举升机3", WorkType.REPAIR),
    ("B1", "钣金工位", WorkType.BODY_PAINT),
    ("P1", "烤漆房", WorkType.BODY_PAINT),
]

OPERATIONS = [
    # code, zh, en, work type, hours, price, care note zh, care note en
    (
        "M-OIL",
        "更换机油及机油滤清器",
        "Engine oil and oil filter change",
        WorkType.MAINTENANCE,
        "0.5",
        "120",
        "",
        "",
    ),
    (
        "M-INSP",
        "常规保养检查(40项)",
        "Routine maintenance inspection (40 points)",
        WorkType.MAINTENANCE,
        "0.5",
        "100",
        "",
        "",
    ),
    (
        "M-AIRF",
        "更换空气滤清器",
        "Air filter replacement",
        WorkType.MAINTENANCE,
        "0.2",
        "40",
        "",
        "",
    ),
    (
        "M-CABF",
        "更换空调滤清器",
        "Cabin air filter replacement",
        WorkType.MAINTENANCE,
        "0.2",
        "40",
        "",
        "",
    ),
    (
        "M-BRFL",
        "更换制动液",
        "Brake fluid replacement",
        WorkType.MAINTENANCE,
        "0.8",
        "160",
        "更换制动液后首日请注意制动踏板感觉,如有异常请联系我们。",
        "After a brake fluid change, watch the pedal feel on the first day and call us if anything feels different.",
    ),
    ("M-SPRK", "更换火花塞", "Spark plug replacement", WorkType.MAINTENANCE, "0.8", "160", "", ""),
    (
        "M-ROT",
        "轮胎换位及动平衡",
        "Tyre rotation and balancing",
        WorkType.MAINTENANCE,
        "0.6",
        "120",
        "",
        "",
    ),
    (
        "R-BRPF",
        "更换前制动片",
        "Front brake pad replacement",
        WorkType.REPAIR,
        "1.0",
        "200",
        "新制动片需磨合约200公里,期间请保持车距,避免急刹。",
        "New brake pads bed in over about 200 km: keep your distance and avoid hard braking.",
    ),
    (
        "R-BRDF",
        "更换前制动盘",
        "Front brake disc replacement",
        WorkType.REPAIR,
        "1.5",
        "300",
        "新制动盘需磨合约200公里,期间请保持车距。",
        "New brake discs bed in over about 200 km: keep your distance.",
    ),
    ("R-ALGN", "四轮定位", "Wheel alignment", WorkType.REPAIR, "1.0", "260", "", ""),
    (
        "R-BATT",
        "更换蓄电池",
        "Battery replacement",
        WorkType.REPAIR,
        "0.3",
        "60",
        "更换蓄电池后部分车窗防夹功能需重新初始化。",
        "After a battery change some window anti-pinch functions need re-initialising.",
    ),
    (
        "R-ACGS",
        "空调系统检测及加注冷媒",
        "Air-conditioning check and refrigerant recharge",
        WorkType.REPAIR,
        "1.2",
        "280",
        "",
        "",
    ),
    ("R-DIAG", "电脑故障诊断", "Computer fault diagnosis", WorkType.REPAIR, "0.5", "150", "", ""),
    (
        "R-SHCK",
        "更换前减震器(一对)",
        "Front shock absorbers (pair)",
        WorkType.REPAIR,
        "2.5",
        "500",
        "更换减震器后建议做四轮定位。",
        "After new shock absorbers a wheel alignment is recommended.",
    ),
    (
        "R-CLTH",
        "更换离合器总成",
        "Clutch assembly replacement",
        WorkType.REPAIR,
        "5.0",
        "1000",
        "",
        "",
    ),
    ("R-TBLT", "更换正时皮带", "Timing belt replacement", WorkType.REPAIR, "3.5", "700", "", ""),
    (
        "B-BUMP",
        "前保险杠钣金修复",
        "Front bumper body repair",
        WorkType.BODY_PAINT,
        "3.0",
        "600",
        "",
        "",
    ),
    (
        "B-PNT1",
        "单面喷漆",
        "Paint one panel",
        WorkType.BODY_PAINT,
        "4.0",
        "800",
        "新漆面7天内请勿洗车打蜡。",
        "Do not wash or wax the new paint for 7 days.",
    ),
    ("B-DENT", "无痕修复凹陷", "Paintless dent repair", WorkType.BODY_PAINT, "1.5", "300", "", ""),
    (
        "B-WSHL",
        "更换前挡风玻璃",
        "Windscreen replacement",
        WorkType.BODY_PAINT,
        "2.0",
        "400",
        "更换挡风玻璃后24小时内请勿高速行驶及洗车。",
        "For 24 hours after a new windscreen, avoid motorway speeds and car washes.",
    ),
]

PARTS = [
    # part number, zh, en, price, stock
    ("90915-YZZD4", "机油滤清器", "Oil filter", "58.00", 120),
    ("08880-83324", "全合成机油 0W-20 4L", "Fully synthetic oil 0W-20 4 L", "398.00", 60),
    ("17801-21050", "空气滤清器滤芯", "Air filter element", "96.00", 40),
    ("87139-02090", "空调滤清器", "Cabin air filter", "128.00", 45),
    ("08823-80010", "制动液 DOT4 1L", "Brake fluid DOT4 1 L", "85.00", 30),
    ("90919-01253", "铱金火花塞", "Iridium spark plug", "145.00", 48),
    ("04465-02220", "前制动片组", "Front brake pad set", "520.00", 12),
    ("43512-02330", "前制动盘", "Front brake disc", "680.00", 4),
    ("28800-47100", "蓄电池 12V 60Ah", "Battery 12 V 60 Ah", "890.00", 6),
    ("48510-80A31", "前减震器", "Front shock absorber", "1250.00", 2),
    ("31250-02270", "离合器片", "Clutch disc", "1680.00", 0),
    ("13568-09130", "正时皮带", "Timing belt", "760.00", 3),
    ("52119-02F60", "前保险杠外皮", "Front bumper cover", "2360.00", 1),
    ("56101-02H10", "前挡风玻璃", "Windscreen", "3280.00", 0),
    ("88716-47010", "冷媒 R134a", "Refrigerant R134a", "160.00", 25),
]

PLANS = [
    # zh, en, km, months, operation codes, part numbers with quantities
    (
        "首保 5000公里",
        "First service 5,000 km",
        5000,
        6,
        ["M-OIL", "M-INSP"],
        [("90915-YZZD4", 1), ("08880-83324", 1)],
    ),
    (
        "小保养 10000公里",
        "Minor service 10,000 km",
        10000,
        12,
        ["M-OIL", "M-INSP", "M-ROT"],
        [("90915-YZZD4", 1), ("08880-83324", 1)],
    ),
    (
        "中保养 20000公里",
        "Intermediate service 20,000 km",
        20000,
        24,
        ["M-OIL", "M-INSP", "M-AIRF", "M-CABF"],
        [("90915-YZZD4", 1), ("08880-83324", 1), ("17801-21050", 1), ("87139-02090", 1)],
    ),
    (
        "大保养 40000公里",
        "Major service 40,000 km",
        40000,
        48,
        ["M-OIL", "M-INSP", "M-AIRF", "M-CABF", "M-BRFL", "M-SPRK"],
        [
            ("90915-YZZD4", 1),
            ("08880-83324", 1),
            ("17801-21050", 1),
            ("87139-02090", 1),
            ("08823-80010", 1),
            ("90919-01253", 4),
        ],
    ),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严莫孔向常汤康易乔赖文"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志强红梅玉兰海燕俊峰子涵欣怡浩然宇轩思远佳琪梓萱雨泽晨阳文博一诺"
MODELS = [
    ("丰田", "卡罗拉 Corolla"),
    ("丰田", "凯美瑞 Camry"),
    ("丰田", "RAV4 荣放"),
    ("丰田", "汉兰达 Highlander"),
    ("丰田", "雷凌 Levin"),
    ("丰田", "亚洲龙 Avalon"),
    ("丰田", "bZ4X"),
    ("丰田", "赛那 Sienna"),
]
COLOURS = ["珍珠白", "曜石黑", "铂金银", "烈焰红", "天际蓝", "钛金灰"]
COMPANIES = ["", "", "", "", "星辰物流有限公司", "华光科技", "市第一人民医院"]
PLATE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
WMI = ["LFM", "LVG", "LTV", "JTD", "JTE"]
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def make_vin(rng: random.Random) -> str:
    body = rng.choice(WMI) + "".join(rng.choice(VIN_CHARS) for _ in range(14))
    vin = body[:8] + "0" + body[9:]
    return vin[:8] + vin_check_digit(vin) + vin[9:]


def make_plate(index: int) -> str:
    """Unique plate per index: 苏E + 5 characters, every 10th a new-energy plate."""
    city = "苏" + "EABCDF"[index % 6]
    if index % 10 == 0:
        return f"{city}D{PLATE_CHARS[index // 10 % 24]}{index // 240 % 10000:04d}"
    n = index
    tail = ""
    for _ in range(4):
        tail += PLATE_CHARS[n % 34]
        n //= 34
    return f"{city}{tail}{n % 10}"


def make_mobile(index: int) -> str:
    return f"139{index:08d}"


def _role_group(role: str) -> Group:
    # The groups come from a migration; a test database flushed by a transactional test lost them.
    return Group.objects.get_or_create(name=role)[0]


@transaction.atomic
def seed_store() -> list[tuple[str, str, str]]:
    """Staff, workshop and catalogue. Returns (username, password, role label) for printing."""
    logins = []
    for username, family, given, role in STAFF:
        user, created = User.objects.get_or_create(
            username=username, defaults={"last_name": family, "first_name": given}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.is_staff = role in (Role.ADMIN, Role.SERVICE_MANAGER)
            user.is_superuser = role == Role.ADMIN
            user.save()
        user.groups.add(_role_group(role))
        logins.append((username, DEMO_PASSWORD, str(Role(role).label)))
        if username in TECHNICIANS:
            team, skill, work_type = TECHNICIANS[username]
            Technician.objects.get_or_create(
                user=user,
                defaults={
                    "name": f"{family}{given}",
                    "team": team,
                    "skill_level": skill,
                    "work_type": work_type,
                },
            )
    for code, name, work_type in BAYS:
        Bay.objects.get_or_create(code=code, defaults={"name": name, "work_type": work_type})
    for code, zh, en, work_type, hours, price, note_zh, note_en in OPERATIONS:
        LabourOperation.objects.get_or_create(
            code=code,
            defaults={
                "name_zh": zh,
                "name_en": en,
                "work_type": work_type,
                "standard_hours": Decimal(hours),
                # As the migration sets the catalogue: the board suggests by this level.
                "required_skill": SkillLevel.APPRENTICE
                if work_type == WorkType.MAINTENANCE
                else SkillLevel.SEMI_SKILLED,
                "price": Decimal(price),
                "care_note_zh": note_zh,
                "care_note_en": note_en,
            },
        )
    # The diagnosis fee of a car not repaired (rule workorders.diagnosis_fee_operation; the
    # migration seeds it too, but a flushed test database has lost it). Never offered as labour.
    LabourOperation.objects.get_or_create(
        code=rule("workorders.diagnosis_fee_operation"),
        defaults={
            "name_zh": "故障诊断费",
            "name_en": "Diagnosis fee",
            "work_type": "repair",
            "standard_hours": Decimal("0"),
            "price": Decimal("150.00"),
            "active": False,
        },
    )
    for number, zh, en, price, stock in PARTS:
        Part.objects.get_or_create(
            part_number=number,
            defaults={
                "name_zh": zh,
                "name_en": en,
                "price": Decimal(price),
                "stock_on_hand": stock,
            },
        )
    for zh, en, km, months, op_codes, parts in PLANS:
        plan, created = MaintenancePlan.objects.get_or_create(
            interval_km=km,
            defaults={"name_zh": zh, "name_en": en, "interval_months": months},
        )
        if created:
            plan.operations.set(LabourOperation.objects.filter(code__in=op_codes))
            for number, qty in parts:
                MaintenancePlanPart.objects.create(
                    plan=plan, part=Part.objects.get(part_number=number), quantity=qty
                )
    return logins


def seed_customers(count: int, *, seed: int = 4, batch_size: int = 2000) -> tuple[int, int]:
    """`count` customers with about 1.2 vehicles each. Skips those that exist already.

    Built with bulk_create (no history rows): demo data is nobody's edit.
    """
    rng = random.Random(seed)
    existing = set(
        Customer.objects.filter(mobile__startswith="139").values_list("mobile", flat=True)
    )
    today = date.today()
    new_customers = []
    for index in range(count):
        mobile = make_mobile(index)
        name = (
            rng.choice(SURNAMES)
            + rng.choice(GIVEN)
            + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
        )
        company = rng.choice(COMPANIES)
        if mobile in existing:
            continue
        new_customers.append(
            Customer(
                name=name,
                mobile=mobile,
                company=company,
                address=f"苏州市工业园区星湖街{index % 900 + 1}号",
                language="en" if index % 25 == 0 else "zh-hans",
            )
        )
    Customer.objects.bulk_create(new_customers, batch_size=batch_size)
    # Most demo customers agreed to reminders, and many to marketing, in the store's old
    # system (imported), so the invitation and lost-customer lists are not empty.
    created = Customer.objects.filter(mobile__startswith="139", consents__isnull=True).values_list(
        "id", "language"
    )
    consents_import(
        [
            (pk, language, purpose)
            for pk, language in created
            for purpose, share in (("reminders", 9), ("marketing", 7))
            if pk % 10 < share
        ],
        batch_size=batch_size,
    )

    owners = dict(Customer.objects.filter(mobile__startswith="139").values_list("mobile", "id"))
    existing_vins = set(Vehicle.objects.values_list("vin", flat=True))
    vehicles = []
    plate_index = 0
    for index in range(count):
        owner_id = owners.get(make_mobile(index))
        for _ in range(2 if index % 5 == 0 else 1):
            plate_index += 1
            vin = make_vin(rng)
            brand, model = rng.choice(MODELS)
            registered = today - timedelta(days=rng.randint(30, 3650))
            colour = rng.choice(COLOURS)
            produced = registered - timedelta(days=rng.randint(20, 120))
            km_per_day = rng.randint(20, 60)
            # Every random draw happens before this check, so a second run sees the same data.
            if vin in existing_vins or owner_id is None:
                continue
            existing_vins.add(vin)
            vehicles.append(
                Vehicle(
                    vin=vin,
                    plate=make_plate(plate_index),
                    owner_id=owner_id,
                    brand=brand,
                    model=model,
                    colour=colour,
                    production_date=produced,
                    registration_date=registered,
                    last_odometer_km=(today - registered).days * km_per_day,
                )
            )
    Vehicle.objects.bulk_create(vehicles, batch_size=batch_size, ignore_conflicts=True)
    if connection.vendor == "postgresql" and len(vehicles) > 1000:
        # Fresh planner statistics after a bulk load, or the first searches plan badly.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE dealership_customer, dealership_vehicle")
    return len(new_customers), len(vehicles)

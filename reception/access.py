"""Who may use the reception and work order pages and API."""

from dealership.roles import Role

EDITORS = (Role.ADVISOR, Role.SERVICE_MANAGER)
VIEWERS = (
    Role.ADVISOR,
    Role.SERVICE_MANAGER,
    Role.WORKSHOP_CONTROLLER,
    Role.CASHIER,
    Role.QC_INSPECTOR,
)

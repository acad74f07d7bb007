"""Who works with appointments: the pages and the API use the same roles."""

from dealership.roles import Role

BOARD_ROLES = (
    Role.ADVISOR,
    Role.SERVICE_MANAGER,
    Role.WORKSHOP_CONTROLLER,
    Role.CUSTOMER_CARE,
)
BOOKING_ROLES = (Role.ADVISOR, Role.SERVICE_MANAGER, Role.CUSTOMER_CARE)
CALL_ROLES = (Role.ADVISOR, Role.SERVICE_MANAGER, Role.CUSTOMER_CARE)

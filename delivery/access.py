"""Who may do what in steps 6–7 (pages and API share these)."""

from dealership.roles import Role

# The advisor delivers: final check, approvals, delivery sheet, hand-back.
DELIVERERS = (Role.ADVISOR, Role.SERVICE_MANAGER)
# The cashier settles and issues the gate pass; voids and refunds are the manager's (services).
CASHIERS = (Role.CASHIER, Role.SERVICE_MANAGER)
# The car is marked ready by the advisor or the workshop controller (after the wash).
READY_MARKERS = (Role.ADVISOR, Role.WORKSHOP_CONTROLLER, Role.SERVICE_MANAGER)
# The delivery page: the controller sees it to mark the car ready, without the money.
VIEWERS = (Role.ADVISOR, Role.CASHIER, Role.WORKSHOP_CONTROLLER, Role.SERVICE_MANAGER)
# Bills, receipts, settlements and the customer's papers (delivery sheet with its costs, gate
# pass, hand-back signature): the roles that handle money (dealership.visibility.MONEY_ROLES).
MONEY_VIEWERS = (Role.ADVISOR, Role.CASHIER, Role.SERVICE_MANAGER)

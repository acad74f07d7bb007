"""Who works with courtesy cars: advisors lend and take back, the manager keeps the fleet."""

from dealership.roles import Role

LENDERS = (Role.ADVISOR, Role.SERVICE_MANAGER)
FLEET = (Role.SERVICE_MANAGER,)

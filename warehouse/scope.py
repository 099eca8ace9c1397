"""Who may see what: the caller's scope and the one tenant filter every listing applies."""

from __future__ import annotations

from dataclasses import dataclass

from kernel.errors import InvalidInput, NotFound
from kernel.identity import Principal, Role


@dataclass(frozen=True)
class Scope:
    """Who may see what: a seller its own objects, an operator its warehouses, an admin everything."""

    tenant_id: str
    role: Role
    warehouses: tuple[str, ...] = ()

    @staticmethod
    def of(principal: Principal) -> Scope:
        return Scope(principal.tenant_id, principal.role, principal.warehouses)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_seller(self) -> bool:
        return self.role is Role.SELLER

    @property
    def is_operator(self) -> bool:
        return self.role is Role.OPERATOR

    def seller_for_write(self, seller_id: str | None) -> str:
        """The seller a creating call acts for: a seller itself; admin and operator must name one."""
        if self.is_seller:
            if seller_id not in (None, self.tenant_id):
                raise NotFound(f"seller {seller_id} does not exist")
            return self.tenant_id
        if not seller_id:
            raise InvalidInput(
                "name the seller_id this call acts for",
                errors=[{"field": "seller_id", "message": "required"}],
            )
        return seller_id

    def sees_seller(self, seller_id: str) -> bool:
        return not self.is_seller or seller_id == self.tenant_id

    def sees_warehouse(self, code: str) -> bool:
        return not self.is_operator or code in self.warehouses

    def check_warehouse(self, code: str) -> None:
        if not self.sees_warehouse(code):
            raise NotFound(f"warehouse {code} does not exist")

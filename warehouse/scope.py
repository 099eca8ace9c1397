"""Who may see what: the caller's scope and the one tenant filter every listing applies."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVarTuple

from sqlalchemy import ColumnElement, Select

from kernel.errors import InvalidInput, NotFound
from kernel.identity import Principal, Role

Cols = TypeVarTuple("Cols")
# An operator's rows: a warehouse column, or a clause built from its warehouse codes (e.g. EXISTS ...)
WarehouseFilter = ColumnElement[Any] | Callable[[Sequence[str]], ColumnElement[bool]]


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

    def filter(
        self,
        query: Select[*Cols],
        seller: ColumnElement[Any],
        warehouse: WarehouseFilter | None = None,
        seller_id: str | None = None,
    ) -> Select[*Cols]:
        """`query` narrowed to this scope: a seller its own rows (others may name `seller_id`), an operator
        the rows of its warehouses."""
        if self.is_seller:
            query = query.where(seller == self.tenant_id)
        elif seller_id:
            query = query.where(seller == seller_id)
        if self.is_operator and warehouse is not None:
            clause = (
                warehouse.in_(self.warehouses)
                if isinstance(warehouse, ColumnElement)
                else warehouse(self.warehouses)
            )
            query = query.where(clause)
        return query

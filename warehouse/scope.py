"""Who may see what: the caller's scope, the one tenant filter every listing applies, and the scoped
lookups of one order, inbound notice, transfer or return that every command and view starts from."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVarTuple

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from kernel.errors import InvalidInput, NotFound
from kernel.identity import Principal, Role
from warehouse import tables as t

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


def find_order(session: Session, scope: Scope, order_id: str) -> dict[str, Any]:
    """The order's row if the caller may see it (an operator: all its reservations at its warehouses)."""
    row = session.execute(select(t.orders).where(t.orders.c.id == order_id)).mappings().first()
    if row is None or not scope.sees_seller(row["seller_id"]):
        raise NotFound(f"order {order_id} does not exist")
    if scope.is_operator:
        whs = set(
            session.execute(
                select(t.reservations.c.warehouse).where(t.reservations.c.order_id == order_id)
            ).scalars()
        )
        if not whs or not whs <= set(scope.warehouses):
            raise NotFound(f"order {order_id} does not exist")
    return dict(row)


def find_inbound(session: Session, scope: Scope, inbound_id: str) -> dict[str, Any]:
    """The inbound notice's row if the caller may see it, else NotFound."""
    row = session.execute(select(t.inbound).where(t.inbound.c.id == inbound_id)).mappings().first()
    if row is None or not scope.sees_seller(row["seller_id"]) or not scope.sees_warehouse(row["warehouse"]):
        raise NotFound(f"inbound {inbound_id} does not exist")
    return dict(row)


def find_transfer(session: Session, scope: Scope, transfer_id: str) -> dict[str, Any]:
    """The transfer's row if the caller may see it (an operator: from or to its warehouses), else NotFound."""
    row = session.execute(select(t.transfers).where(t.transfers.c.id == transfer_id)).mappings().first()
    if (
        row is None
        or not scope.sees_seller(row["seller_id"])
        or (scope.is_operator and not {row["from_warehouse"], row["to_warehouse"]} & set(scope.warehouses))
    ):
        raise NotFound(f"transfer {transfer_id} does not exist")
    return dict(row)


def find_rma(session: Session, scope: Scope, rma_id: str, receiving: bool = False) -> dict[str, Any]:
    """An RMA the caller may see. An operator sees those shipped from or received at its warehouses, and
    any RMA whose parcel turns up at its dock (`receiving`): returns may come back anywhere."""
    row = session.execute(select(t.returns).where(t.returns.c.id == rma_id)).mappings().first()
    if row is None or not scope.sees_seller(row["seller_id"]):
        raise NotFound(f"return {rma_id} does not exist")
    if scope.is_operator and not receiving:
        mine = set(scope.warehouses)
        shipped_from = set(
            session.execute(
                select(t.reservations.c.warehouse).where(t.reservations.c.order_id == row["order_id"])
            ).scalars()
        )
        received_at = set(
            session.execute(
                select(t.return_receipts.c.warehouse).where(t.return_receipts.c.rma_id == rma_id)
            ).scalars()
        )
        if not (shipped_from | received_at) & mine:
            raise NotFound(f"return {rma_id} does not exist")
    return dict(row)

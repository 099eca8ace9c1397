"""Customs: the logistics enterprise's declarations to China's customs single window, driven by tracking.

The cross-border e-commerce export modes (9610 parcels, 9710 B2B direct, 9810 B2B to an overseas warehouse,
1210 bonded) owe the single window a waybill (CEB505) when the shipment is booked, an arrival (CEB507) when
the cargo is inside the origin's supervised site, and a departure (CEB509) when it leaves the country. The
modules: `declaration` (the booking's customs data and the mode rules), `spec` (our schema of the messages,
with its public sources, and the validator), `messages` (the XML and where each field comes from), `triggers`
(which ACT milestones file what, pure), `filing` (outbox, receipts, the rejection alarm), `gateway` (the
single window as a port: a directory drop and a simulated single window), `delivery` (the scheduled job),
`views` (the read side), `tables`.
"""

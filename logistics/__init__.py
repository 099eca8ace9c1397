"""Shipments: quotes -> bookings -> waybills, milestones and status, tracking, ETA, alarms, webhooks."""

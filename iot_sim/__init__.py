"""Tracker simulator: a separate process that speaks only the wire contract (public HTTP API + MQTT).

geo       great-circle arithmetic (pure)
motion    where a tracker is at service time t along an itinerary's stops (pure)
readings  the tracker's sensor model: one telemetry reading per fix (pure, seeded)
faults    fault injectors: transformations of a device's emission stream (pure, seeded)
clock     the service clock followed from `GET /healthz`
api       a thin typed client of the public HTTP API (httpx)
devices   the local store of device credentials (`var/sim-devices.json`)
mqtt      one paho client per device, all driven by one selector loop
fleet     the orchestration: booking, provisioning, discovery and the publishing loop
"""

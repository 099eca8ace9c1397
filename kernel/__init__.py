"""The shared kernel: settings, clock, database and unit of work, errors, ids, MQTT port.

Free of domain rules; every xborder package may import it (except `routing`, which stays pure).
"""

"""Open311 GeoReport v2, the standard for residents' reports (issue 16): the reports' store
(:mod:`.store`: off chain, a salted commitment on chain), the services' names (:mod:`.categories`)
and the wire format (:mod:`.formats`: JSON or XML, W3C datetimes, the specification's errors).
The routes are :mod:`api.routers.open311`, the service :mod:`api.services.reports`."""

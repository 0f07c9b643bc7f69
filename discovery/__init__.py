"""ONVIF discovery: WS-Discovery probing, hardened ONVIF interrogation, registration into a site.

Modules, in the order a run uses them:

- ``wsd``: Probe messages and untrusted ProbeMatches parsing; multicast and unicast probing.
- ``sweep``: TCP reachability of a small subnet (devices that ignore WS-Discovery).
- ``run``: ``discover_site(site, logins, request, options) -> DiscoveryReport`` (no storage).
- ``interrogate``: one device: clock skew, login, identity, services, profiles, stream URIs.
- ``onvif_client``: the only code that touches onvif-zeep-async and zeep (hardened).
- ``addresses`` and ``streams``: pure decisions (allowed addresses, main and check profiles).
- ``registry``: ``register_device(session, site, device) -> RegistrationResult`` (upsert).
- ``schemas``: JSON documents (the report; devices submitted to the API) and
  ``register_submission`` for the API's ``POST /api/v1/sites/{code}/devices``.
- ``remote``: the CLI's client of that route; ``manual``: cameras added by hand.

Per-device outcome (``reason_code`` in brackets):

- ``registered``, ``updated`` (address changed, moved, details changed), ``unchanged``
- ``auth_failed`` (credentials_refused, no_credentials, http_auth)
- ``clock_skew`` (clock_unreadable: logins refused and the clock could not be read)
- ``unreachable`` (timeout, connect_failed, tls_failed, http_error)
- ``not_onvif`` (not_soap, malformed_xml, xml_forbidden, reply_too_large, empty_reply,
  http_status, soap_fault, bad_reply, no_media_service, no_profiles)
- ``conflict`` (registered to another precinct; left there unless moved)
- ``refused_address`` (foreign_xaddr, foreign_service_address, foreign_stream_uri,
  foreign_snapshot_uri, redirect_refused): nothing stored, the address never contacted
"""

"""The simulated precinct: RTSP feeds with faults, ONVIF devices and a WS-Discovery responder."""

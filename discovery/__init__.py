"""ONVIF discovery: WS-Discovery probing, hardened ONVIF interrogation, registration into a site."""

// Gateway: where the SIP engine, the dialplan and the timeline meet (being built).

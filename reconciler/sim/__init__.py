"""The simulated fleet: many virtual ASA devices and agent endpoints behind one loopback HTTPS
server, speaking the drivers' wire protocol (see docs/simulator.md).

model (units, disks, boot, failover, clusters), asa_cli (the command line), agent_api, faults,
uploads, clock (time scale), fleetfile (the --fleet format), fleet (runtime and control API),
app (ASGI), server (uvicorn), tls (CA and certificate), example (the twin of an inventory).
"""

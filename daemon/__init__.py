"""The ptyd daemon: sessions under real PTYs, one event loop, ZeroMQ in and out.

It never imports the clients; it shares only `ptyd.proto` with them.
"""

from tests.images.server import image_server, no_ambient_proxy, tls_image_server  # noqa: F401 - fixtures

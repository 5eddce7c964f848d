from tests.images.server import image_server, no_ambient_proxy  # noqa: F401 - fixtures

"""Support code for the end-to-end tests: test images and the real registry and clients."""

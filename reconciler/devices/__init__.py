"""Operations on one device's storage over its driver: listing, deleting, downloading, test copies.

The rules (what may be deleted, which unit serves downloads) are pure and live in
`reconciler.core.storage`; these modules only talk to the device and the local disk.
"""

"""The VAPID key pair: generated once and kept in the database (every process reads the same),
its private half encrypted under SECRET_KEY; or given by the operator."""

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.exceptions import ImproperlyConfigured

from tasks_app.models import VapidKey
from tasks_app.push import vapid


@pytest.mark.django_db
def test_a_key_pair_is_generated_on_first_use_and_kept():
    first = vapid.key_pair()
    assert vapid.key_pair().public_key == first.public_key
    assert VapidKey.objects.count() == 1
    raw_private = vapid.b64url(vapid._raw_private(first.vapid.private_key))
    assert raw_private not in VapidKey.objects.get().private_key_encrypted


@pytest.mark.django_db
def test_the_stored_key_needs_the_secret_key_it_was_encrypted_under(settings):
    kept = vapid.public_key()
    old = settings.SECRET_KEY
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY_FALLBACKS"):
        vapid.key_pair()
    settings.SECRET_KEY_FALLBACKS = [old]
    assert vapid.public_key() == kept


@pytest.mark.django_db
def test_a_configured_key_wins_and_is_checked(settings):
    private = ec.generate_private_key(ec.SECP256R1())
    settings.VAPID_PRIVATE_KEY = vapid.b64url(vapid._raw_private(private))
    expected = vapid._public_of(private)
    assert vapid.public_key() == expected
    assert not VapidKey.objects.exists()

    settings.VAPID_PUBLIC_KEY = vapid._public_of(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(ImproperlyConfigured, match="does not belong"):
        vapid.key_pair()
    settings.VAPID_PUBLIC_KEY, settings.VAPID_PRIVATE_KEY = None, "not a key"
    with pytest.raises(ImproperlyConfigured, match="VAPID_PRIVATE_KEY"):
        vapid.key_pair()

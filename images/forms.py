"""The form of a trusted signing key."""

from django import forms


class SigningKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="How signatures made with it are labelled: “verified by …”.")
    pem = forms.CharField(label="Public key (PEM)", max_length=4096, widget=forms.Textarea(attrs={"rows": 5}),
                          help_text="cosign.pub: an ECDSA P-256 public key, -----BEGIN PUBLIC KEY-----.")

"""Meeting video pages: the signalling of the hall device and of the cloud members' phones, and the
phone's video page (docs/video.md)."""

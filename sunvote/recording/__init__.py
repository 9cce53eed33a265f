"""Recording pages (issue 19): the hall device's chunk uploads, watching and playing back the
hall's recording, its download with the proof, and its deletion after retention."""

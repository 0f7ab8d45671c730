"""The realistic synthetic world (``cluenet synth --world realistic``): anny bodies in
clothes on textured streets, rendered with pyrender over EGL. Heavy modules (pyrender,
anny, torch) are imported only when a renderer is made."""

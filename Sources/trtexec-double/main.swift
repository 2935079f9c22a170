print("trtexec-double: not built yet")

print("nightjar-sandbox: not built yet")

import NASTensor

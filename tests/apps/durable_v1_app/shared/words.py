"""Code shared by the app's functions (a folder without function.json is not a function)."""


def greeting(city: str) -> str:
    return f"Hello {city}!"

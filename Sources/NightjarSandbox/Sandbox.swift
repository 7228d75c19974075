// NightjarSandbox: fake portals (to be written).

// NightjarHTTP: sessions on libcurl (to be written).

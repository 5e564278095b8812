A,CCACK,1,101,2026-11-20,1,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,accepted,2026-11-26T21:33:20.000000+08:00
E,0

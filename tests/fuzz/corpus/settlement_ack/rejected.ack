A,CCACK,1,101,2026-11-20,1,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,rejected,2026-11-26T21:33:20.000000+08:00
R,2,tap:17:5001,R07,"fare, ""late"" and unexplained"
B,B01,totals differ
E,2

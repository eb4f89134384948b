
e
import re,sys,os
# Length of every function body in lines: from the line holding its name to its closing brace.
LIM=int(os.environ.get('LIM','100'))
out=[]
def strip(src):
    src=re.sub(r'//[^\n]*','',src)
    src=re.sub(r'/\*.*?\*/',lambda m:'\n'*m.group(0).count('\n'),src,flags=re.S)
    src=re.sub(r'"(\\.|[^"\\\n])*"','""',src)
    src=re.sub(r"'(\\.|[^'\\\n])*'","''",src)
    return src
for path in sys.argv[1:]:
    src=strip(open(path,errors='replace').read())
    depth=0; line=1; start=None; name=None; last_nonspace=''
    buf=''
    i=0
    for ch in src:
        if ch=='\n': line+=1
        if ch=='{':
            if depth==0:
                m=re.search(r'(\w+)\s*\([^;{}]*\)\s*$', buf)
                if m and not re.search(r'=\s*$',buf):
                    name=m.group(1)
                    start=line - buf[m.start():].count('\n')
                else: name=None
            depth+=1
        elif ch=='}':
            depth-=1
            if depth==0:
                if name:
                    n=line-start+1
                    if n>LIM: out.append((n,path,start,name))
                name=None; buf=''
        if depth==0:
            buf+=ch
            if ch==';': buf=''
    pass
for n,p,s,nm in sorted(out,reverse=True): print(f"{n:4d} {p}:{s} {nm}")

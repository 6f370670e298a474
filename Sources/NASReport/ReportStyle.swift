/// The style sheet and the script every report page carries inline.
///
/// Colours are CSS variables with a light and a dark set (`prefers-color-scheme`); the inline SVG
/// plots keep their own colours as presentation attributes (so a standalone SVG looks right), and the
/// style sheet recolours the frame's classes (`SVGFrame`) for the dark scheme.
///
/// The script only adds to a page that works without it: clicking a point (`[data-trial]`) or a table
/// row opens the inspector with the trial's architecture JSON (from the row's `<pre>` on the page, or
/// from `<api>/trials/N` on the dashboard) and a copy button; clicking a header of a `table.sortable`
/// sorts by that column (numbers by their `data-sort`); and with `data-version-url` on `<body>` (the
/// live dashboard) it polls that address and, when the answer changes, replaces `<main>` with the
/// fresh page's. Once set up it marks `<html data-script="ready">` (what the browser test looks for).
enum ReportStyle {
    static let css = """
    :root{--bg:#fff;--fg:#1d1d1f;--muted:#5f6368;--panel:#fff;--line:#d0d4d9;--grid:#e3e5e8;--accent:#1f6feb;--row:#f5f7fa;--bad:#b3261e;color-scheme:light dark}
    @media (prefers-color-scheme: dark){:root{--bg:#16181c;--fg:#e6e6e6;--muted:#a0a6ad;--panel:#1f2227;--line:#3a3f46;--grid:#2e3238;--accent:#6ea8fe;--row:#23272d;--bad:#f2b8b5}}
    *{box-sizing:border-box}
    body{margin:0 auto;max-width:1200px;padding:1rem 1.5rem;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif}
    h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.2rem;border-bottom:1px solid var(--line);padding-bottom:.2rem;margin-top:2rem}
    a{color:var(--accent)}.subtitle,.toc,.note,footer{color:var(--muted)}footer{margin:2rem 0 1rem;font-size:.85rem}
    .error{color:var(--bad);font-weight:600;white-space:pre-wrap}
    .plots{display:flex;flex-wrap:wrap;gap:1rem}.plots figure{margin:0}
    svg.plot{max-width:100%;height:auto;background:var(--panel)}
    svg.plot .frame-bg{fill:var(--panel)}svg.plot .grid{stroke:var(--grid)}svg.plot .frame-border{stroke:var(--muted)}
    svg.plot .tick,svg.plot .axis-title,svg.plot .plot-title,svg.plot .legend text,svg.plot .label{fill:var(--fg)}svg.plot .note{fill:var(--muted)}
    svg.plot [data-trial]{cursor:pointer}svg.plot circle[data-trial]:hover{stroke:var(--fg);stroke-width:2}
    table{border-collapse:collapse;margin:.5rem 0;font-variant-numeric:tabular-nums}
    th,td{padding:.25rem .55rem;border-bottom:1px solid var(--line);text-align:right;vertical-align:top}
    th{position:sticky;top:0;background:var(--bg)}td.text,th.text{text-align:left}
    tbody tr:nth-child(even){background:var(--row)}tr.failed td{color:var(--bad)}tr.selected td{outline:1px solid var(--accent)}
    table.sortable th{cursor:pointer;user-select:none}table.sortable th[aria-sort=ascending]::after{content:" ▲"}table.sortable th[aria-sort=descending]::after{content:" ▼"}
    details pre,aside pre{max-height:18rem;overflow:auto;background:var(--row);padding:.5rem;font-size:12px;text-align:left}
    .table-wrap{max-height:36rem;overflow:auto;border:1px solid var(--line)}
    .bar{display:inline-block;height:.8rem;background:var(--accent);vertical-align:middle}
    .pager{margin:.5rem 0}.pager a,.pager span{margin-right:.6rem}
    aside#inspector{position:fixed;right:1rem;bottom:1rem;width:min(32rem,90vw);background:var(--panel);border:1px solid var(--line);padding:.6rem 1rem;box-shadow:0 4px 18px rgba(0,0,0,.25)}
    aside#inspector .close{float:right}
    button{font:inherit;color:var(--fg);background:var(--row);border:1px solid var(--line);border-radius:4px;padding:.2rem .6rem;cursor:pointer}
    """

    static let script = """
    (function(){
    "use strict";
    var body=document.body,api=body.getAttribute("data-api");
    var inspector=document.getElementById("inspector");
    function archText(n,done){
      var pre=document.querySelector("#trial-"+n+" pre.architecture");
      if(pre){done(pre.textContent);return;}
      if(!api){done(null);return;}
      fetch(api+"/trials/"+n).then(function(r){return r.ok?r.json():null;}).then(function(t){done(t?JSON.stringify(t.architecture,null,2):null);}).catch(function(){done(null);});
    }
    function inspect(n){
      archText(n,function(text){
        inspector.querySelector("h3").textContent="trial "+n;
        inspector.querySelector("pre").textContent=text===null?"(architecture not on this page)":text;
        inspector.hidden=false;
        document.querySelectorAll("tr.selected").forEach(function(r){r.classList.remove("selected");});
        var row=document.getElementById("trial-"+n);if(row)row.classList.add("selected");
      });
    }
    document.addEventListener("click",function(e){
      var t=e.target;
      if(t.closest&&t.closest("summary, a, button, details"))return;
      var el=t.closest?t.closest("[data-trial]"):null;
      if(el){inspect(el.getAttribute("data-trial"));return;}
      var th=t.closest?t.closest("table.sortable th"):null;
      if(th)sortBy(th);
    });
    inspector.querySelector(".close").addEventListener("click",function(){inspector.hidden=true;});
    inspector.querySelector(".copy").addEventListener("click",function(){
      var text=inspector.querySelector("pre").textContent,b=this;
      function ok(){b.textContent="Copied";setTimeout(function(){b.textContent="Copy architecture JSON";},1500);}
      if(navigator.clipboard&&window.isSecureContext){navigator.clipboard.writeText(text).then(ok,function(){});}
      else{var r=document.createRange();r.selectNodeContents(inspector.querySelector("pre"));var s=getSelection();s.removeAllRanges();s.addRange(r);try{document.execCommand("copy");ok();}catch(x){}}
    });
    function sortBy(th){
      var table=th.closest("table"),index=Array.prototype.indexOf.call(th.parentNode.children,th);
      var asc=th.getAttribute("aria-sort")!=="ascending";
      th.parentNode.querySelectorAll("th").forEach(function(h){h.removeAttribute("aria-sort");});
      th.setAttribute("aria-sort",asc?"ascending":"descending");
      var tbody=table.tBodies[0],rows=Array.prototype.slice.call(tbody.rows);
      function key(r){var c=r.cells[index];if(!c)return"";var k=c.getAttribute("data-sort");return k===null?c.textContent:k;}
      rows.sort(function(a,b){
        var x=key(a),y=key(b),nx=parseFloat(x),ny=parseFloat(y);
        if(x==="")return y===""?0:1;if(y==="")return -1;
        var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);
        return asc?c:-c;
      });
      rows.forEach(function(r){tbody.appendChild(r);});
    }
    var versionURL=body.getAttribute("data-version-url");
    if(versionURL){
      var seconds=parseFloat(body.getAttribute("data-refresh-seconds"))||2,last=null,busy=false;
      function poll(){
        if(busy)return;busy=true;
        fetch(versionURL,{cache:"no-store"}).then(function(r){return r.text();}).then(function(v){
          if(last!==null&&v!==last){
            return fetch(location.href,{cache:"no-store"}).then(function(r){return r.text();}).then(function(html){
              var fresh=new DOMParser().parseFromString(html,"text/html").querySelector("main");
              if(fresh)document.querySelector("main").replaceWith(fresh);
              last=v;
            });
          }
          last=v;
        }).catch(function(){}).then(function(){busy=false;});
      }
      poll();setInterval(poll,seconds*1000);
    }
    document.documentElement.setAttribute("data-script","ready");
    })();
    """
}

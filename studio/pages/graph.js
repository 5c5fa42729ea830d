// The run's step graph: laid out by dagre (a maintained layout library), drawn as SVG. Nodes are focusable
// buttons (Tab, arrow keys to the nearest node in that direction, Enter/Space to open a step); their status is
// shown by icon, text and colour, and updated in place without a new layout.
import { STATUS } from "../ui.js";

const SVG = "http://www.w3.org/2000/svg";
const NODE_W = 190, NODE_H = 48, DATA_H = 30;

function el(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function clip(text, n) {
  return text.length > n ? text.slice(0, n - 1) + "…" : text;
}

export class RunGraph {
  constructor(graph, onOpen) {
    this.onOpen = onOpen;
    this.nodes = new Map(); // id -> {g, statusText, icon, x, y}
    const g = new dagre.graphlib.Graph({ multigraph: true });
    g.setGraph({ rankdir: "TB", nodesep: 28, ranksep: 56, edgesep: 12, marginx: 12, marginy: 12 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const node of graph.nodes) {
      g.setNode(node.id, { width: node.type === "data" ? 170 : NODE_W, height: node.type === "data" ? DATA_H : NODE_H, node });
    }
    graph.edges.forEach((edge, i) => {
      if (g.hasNode(edge.from) && g.hasNode(edge.to)) {
        const label = edge.label || "";
        g.setEdge(edge.from, edge.to, { label, width: Math.min(label.length, 24) * 6.5 + 6, height: 14, labelpos: "c" }, `e${i}`);
      }
    });
    dagre.layout(g);
    const size = g.graph();
    this.svg = el("svg", {
      class: "graph", role: "group", "aria-label": "Step graph",
      viewBox: `0 0 ${Math.ceil(size.width)} ${Math.ceil(size.height)}`,
      width: Math.ceil(size.width), height: Math.ceil(size.height),
    });
    const defs = el("defs");
    const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
    marker.append(el("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" }));
    defs.append(marker);
    this.svg.append(defs);
    const edges = el("g", { class: "edges", "aria-hidden": "true" });
    for (const e of g.edges()) {
      const data = g.edge(e);
      const d = data.points.map((p, i) => `${i ? "L" : "M"} ${p.x.toFixed(1)} ${p.y.toFixed(1)}`).join(" ");
      edges.append(el("path", { d, class: "edge", "marker-end": "url(#arrow)" }));
      if (data.label) {
        edges.append(el("text", { x: data.x, y: data.y + 4, class: "edge-label", "text-anchor": "middle" }, clip(data.label, 24)));
      }
    }
    this.svg.append(edges);
    const nodes = el("g", { class: "nodes" });
    const ordered = g.nodes().map((id) => ({ id, ...g.node(id) })).sort((a, b) => a.y - b.y || a.x - b.x);
    for (const n of ordered) nodes.append(this.drawNode(n));
    this.svg.append(nodes);
    this.svg.addEventListener("keydown", (event) => this.key(event));
  }

  drawNode(n) {
    const node = n.node;
    const x = n.x - n.width / 2, y = n.y - n.height / 2;
    if (node.type === "data") {
      const g = el("g", { class: "node data", transform: `translate(${x},${y})`, "data-node": node.id });
      g.append(el("rect", { width: n.width, height: n.height, rx: 14 }), el("title", {}, node.name));
      g.append(el("text", { x: n.width / 2, y: 19, "text-anchor": "middle", class: "data-label" }, clip(node.name, 23)));
      return g;
    }
    const g = el("g", {
      class: "node step st-notstarted", transform: `translate(${x},${y})`, tabindex: "0", role: "button",
      "data-step-id": node.id, "data-status": "NotStarted", "aria-label": `${node.name}: not started`,
    });
    g.append(el("rect", { width: n.width, height: n.height, rx: 6 }), el("title", {}, node.name));
    const icon = el("text", { x: 12, y: 30, class: "node-icon", "aria-hidden": "true" }, STATUS.NotStarted.icon);
    g.append(icon, el("text", { x: 32, y: 20, class: "node-name" }, clip(node.name, 22)));
    const status = el("text", { x: 32, y: 38, class: "node-status" }, "not started");
    g.append(status);
    g.addEventListener("click", () => this.onOpen(node.id));
    g.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); this.onOpen(node.id); }
    });
    this.nodes.set(node.id, { g, icon, status, name: node.name, x: n.x, y: n.y });
    return g;
  }

  key(event) {
    const dirs = { ArrowDown: [0, 1], ArrowUp: [0, -1], ArrowRight: [1, 0], ArrowLeft: [-1, 0] };
    const dir = dirs[event.key];
    const from = [...this.nodes.values()].find((n) => n.g === document.activeElement);
    if (!dir || !from) return;
    event.preventDefault();
    let best = null, bestScore = Infinity;
    for (const n of this.nodes.values()) {
      const dx = n.x - from.x, dy = n.y - from.y;
      const along = dx * dir[0] + dy * dir[1];
      if (n === from || along <= 0) continue;
      const across = Math.abs(dx * dir[1]) + Math.abs(dy * dir[0]);
      const score = along + 2 * across;
      if (score < bestScore) { best = n; bestScore = score; }
    }
    best?.g.focus();
  }

  setStatus(id, status, detail) {
    const n = this.nodes.get(id);
    if (!n) return;
    const s = STATUS[status] || STATUS.NotStarted;
    const text = detail ? `${s.text} · ${detail}` : s.text;
    if (n.g.dataset.status !== status) {
      n.g.setAttribute("class", `node step st-${s.css}`);
      n.g.dataset.status = status;
      n.icon.textContent = s.icon;
    }
    if (n.status.textContent !== text) {
      n.status.textContent = text;
      n.g.setAttribute("aria-label", `${n.name}: ${text}`);
    }
  }

  select(id) {
    for (const [key, n] of this.nodes) n.g.classList.toggle("selected", key === id);
  }
}

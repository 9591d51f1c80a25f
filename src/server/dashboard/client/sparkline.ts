import { formatNumber } from './format.js';

const svgNs = 'http://www.w3.org/2000/svg';
const width = 120;
const height = 28;

/** A small line of `values` scaled to their peak, titled with the latest value and the peak. */
export function drawSparkline(values: readonly number[], label: string): SVGSVGElement {
  const svg = document.createElementNS(svgNs, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.setAttribute('role', 'img');
  svg.setAttribute('class', 'spark');
  const last = values.length > 0 ? values[values.length - 1] : null;
  const max = values.reduce((m, v) => (v > m ? v : m), 0);
  const title = document.createElementNS(svgNs, 'title');
  title.textContent = `${label}: ${
    values.length > 0 ? `latest ${formatNumber(last)}, peak ${formatNumber(max)}` : 'no samples yet'
  }`;
  svg.appendChild(title);
  if (values.length > 1) {
    const points = values.map((v, i) => {
      const x = (i / (values.length - 1)) * (width - 2) + 1;
      const y = height - 2 - (max > 0 ? (v / max) * (height - 4) : 0);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    });
    const line = document.createElementNS(svgNs, 'polyline');
    line.setAttribute('points', points.join(' '));
    line.setAttribute('fill', 'none');
    line.setAttribute('stroke', 'currentColor');
    line.setAttribute('stroke-width', '1.5');
    svg.appendChild(line);
  }
  return svg;
}

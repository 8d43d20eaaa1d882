import { describe, expect, it } from 'vitest';
import { egressNames, firewallCommands, jumpDeletions, pickSubnet } from './egress-network.js';

describe('egress network', () => {
  it('derives short, stable names from the funclet id (interface names fit 15 characters)', () => {
    const names = egressNames('a-rather-long-funclet-id-from-a-hostname');
    expect(names).toEqual(egressNames('a-rather-long-funclet-id-from-a-hostname'));
    expect(names.bridge.length).toBeLessThanOrEqual(15);
    expect(`${names.vethPrefix}254`.length).toBeLessThanOrEqual(15);
    expect(names.bridge).not.toBe(egressNames('another').bridge);
  });

  it('picks a /24 of 10.240.0.0/16 that no route or address on the host uses', () => {
    const first = pickSubnet('f1', '');
    const taken = `10.240.${first}.0/24 dev fbother proto kernel scope link src 10.240.${first}.1\n`;
    const second = pickSubnet('f1', taken);
    expect(second).not.toBe(first);
    expect(second).toBeGreaterThanOrEqual(0);
    expect(second).toBeLessThan(256);
    const everything = Array.from({ length: 256 }, (_, i) => `10.240.${i}.1`).join('\n');
    expect(() => pickSubnet('f1', everything)).toThrow(/no free/);
  });

  it('drops what sandboxes send to the host or to any sandbox subnet, and NATs the rest', () => {
    const names = egressNames('f1');
    const rules = firewallCommands(names, '10.240.7.0/24').map((rule) => rule.join(' '));
    expect(rules).toContain(`-w -A ${names.inputChain} -j DROP`);
    expect(rules).toContain(`-w -I INPUT 1 -i ${names.bridge} -j ${names.inputChain}`);
    expect(rules).toContain(`-w -A ${names.forwardChain} -i ${names.bridge} -d 10.240.0.0/16 -j DROP`);
    // The sandbox-subnet drop comes before the general accept.
    expect(rules.indexOf(`-w -A ${names.forwardChain} -i ${names.bridge} -d 10.240.0.0/16 -j DROP`)).toBeLessThan(
      rules.indexOf(`-w -A ${names.forwardChain} -i ${names.bridge} -j ACCEPT`),
    );
    expect(rules).toContain(`-w -A ${names.forwardChain} -o ${names.bridge} -j DROP`);
    expect(rules).toContain(`-w -t nat -I POSTROUTING 1 -s 10.240.7.0/24 -j ${names.natChain}`);
  });

  it('finds the jumps to its own chains in iptables -S output, and nobody else\'s', () => {
    const listing = [
      '-P INPUT ACCEPT',
      '-A INPUT -i fbabc -j FAAS-abc-IN',
      '-A INPUT -i docker0 -j DOCKER-IN',
      '-A INPUT -i fbabc -j FAAS-abc-IN',
    ].join('\n');
    expect(jumpDeletions(listing, 'FAAS-abc-IN')).toEqual([
      ['-D', 'INPUT', '-i', 'fbabc', '-j', 'FAAS-abc-IN'],
      ['-D', 'INPUT', '-i', 'fbabc', '-j', 'FAAS-abc-IN'],
    ]);
  });
});
